-- 0002_auth.sql - accounts, provider identities, sessions, signing keys, audit.
--
-- A session is a refresh-token family: every refresh rotates the token inside
-- its family, and reuse of a rotated token revokes the whole family.  Tokens
-- are stored only as SHA-256 digests.  Emails are stored normalised (trimmed,
-- domain lower-cased) and are unique without regard to case.
CREATE TABLE users (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email               text NOT NULL,
    email_verified      boolean NOT NULL DEFAULT false,
    password_hash       text,               -- libscrypt MCF; NULL: provider sign-in only
    name                text,
    role                text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz
);
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TABLE identities (
    provider    text NOT NULL CHECK (provider IN ('google', 'apple')),
    subject     text NOT NULL,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, subject)
);
CREATE INDEX identities_user_idx ON identities (user_id);

CREATE TABLE sessions (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoked_reason text,
    user_agent    text,
    ip            text
);
CREATE INDEX sessions_user_idx ON sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE refresh_tokens (
    token_hash   bytea PRIMARY KEY,          -- SHA-256 of the opaque token
    session_id   uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    rotated_at   timestamptz                 -- set when used: a rotated token is spent
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

CREATE TABLE signing_keys (
    kid          text PRIMARY KEY,
    alg          text NOT NULL CHECK (alg IN ('ES256')),
    private_pem  text NOT NULL,
    public_jwk   jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    retired_at   timestamptz                 -- no longer published nor used
);

CREATE TABLE auth_audit (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    event       text NOT NULL,
    user_id     uuid,
    email       text,
    ip          text,
    request_id  text,
    detail      jsonb
);
CREATE INDEX auth_audit_user_idx ON auth_audit (user_id, at);
