-- 0006_tenant_limit_ceilings.sql - how far a tenant's owners may raise its limits.
--
-- Owners set their own tenant's limits (tenant_limits), each up to a
-- ceiling; raising one above it is for site admins.  A ceiling left NULL
-- here, or a tenant without a row, takes the configured TENANT_CEILING_*.
-- Site admins set these (PUT /api/v1/admin/tenants/{id}/ceilings); a
-- ceiling may be below the tenant's current limit, which then stays until
-- someone lowers it.  A table of its own, so that each of the two rows
-- says when it was last changed.
CREATE TABLE tenant_limit_ceilings (
    tenant_id         uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    qps               integer CHECK (qps > 0),
    burst             integer CHECK (burst > 0),
    concurrency       integer CHECK (concurrency > 0),
    monthly_requests  bigint CHECK (monthly_requests > 0),
    max_memories      bigint CHECK (max_memories > 0),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
