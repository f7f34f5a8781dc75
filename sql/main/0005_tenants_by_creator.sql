-- 0005_tenants_by_creator.sql - the tenants a user created, counted on every create.
--
-- A user may create at most TENANT_MAX_PER_USER tenants that are not
-- deleted (fcgi-apps/tenants/tenants.c): without a cap anyone could make
-- tenants without end, each one more place to send invitations from.  The
-- count runs on every create, so it reads this index, not the table.
CREATE INDEX tenants_created_by_idx ON tenants (created_by) WHERE status <> 'deleted';
