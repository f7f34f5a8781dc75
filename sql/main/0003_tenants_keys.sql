-- 0003_tenants_keys.sql - tenants, their members and limits, API keys, audit, usage.
--
-- A tenant is deleted softly (status 'deleted', deleted_at): its keys stop at
-- once and its data is erased in the background.  Limits left NULL take the
-- configured defaults.  API keys are stored as SHA-256 digests with a short
-- visible prefix; a rotated-away key keeps working until revoke_at (the
-- overlap the caller chose), then stops.
CREATE TABLE tenants (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'deleted')),
    created_by    uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    suspended_at  timestamptz,
    deleted_at    timestamptz
);
CREATE INDEX tenants_name_idx ON tenants (lower(name));

CREATE TABLE tenant_members (
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX tenant_members_user_idx ON tenant_members (user_id);

CREATE TABLE tenant_invitations (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email        text NOT NULL,
    role         text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    invited_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    accepted_at  timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX tenant_invitations_email_idx ON tenant_invitations (lower(email)) WHERE accepted_at IS NULL;

CREATE TABLE tenant_limits (
    tenant_id         uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    qps               integer CHECK (qps > 0),
    burst             integer CHECK (burst > 0),
    concurrency       integer CHECK (concurrency > 0),
    monthly_requests  bigint CHECK (monthly_requests > 0),
    max_memories      bigint CHECK (max_memories > 0),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    prefix        text NOT NULL,                 -- the visible start, e.g. "agk_3fA9xQ2p"
    key_hash      bytea NOT NULL UNIQUE,         -- SHA-256 of the whole secret
    scopes        text[] NOT NULL,
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled', 'deleted')),
    expires_at    timestamptz,
    revoke_at     timestamptz,                   -- a rotated-away key stops then
    rotated_to    uuid REFERENCES api_keys (id) ON DELETE SET NULL,
    created_by    uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id) WHERE status <> 'deleted';

CREATE TABLE tenant_audit (
    id          bigserial PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_id    uuid,                            -- the user who acted (NULL: the system)
    action      text NOT NULL,                   -- e.g. tenant.rename, member.add, key.rotate
    target      text,                            -- what it acted on (user id, key id)
    request_id  text,
    detail      jsonb
);
CREATE INDEX tenant_audit_tenant_idx ON tenant_audit (tenant_id, at DESC);
