-- Passkeys (WebAuthn credentials) and the server side of the WebAuthn
-- ceremonies that register and use them. Same conventions as 00001.

-- +goose Up
-- One row per credential. id is the credential ID the authenticator chose
-- (raw bytes, unique across users: WebAuthn §7.1 step 22 refuses a
-- credential ID registered already). sign_count is the last signature
-- counter seen, an unsigned 32-bit number (hence bigint). transports is a
-- JSON array of the transports the browser reported ('[]' for none), kept
-- as text: nothing queries inside it. last_used_at is NULL until the first
-- sign-in with the passkey.
CREATE TABLE passkeys (
    id                 bytea       NOT NULL,
    user_id            text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name               text        NOT NULL DEFAULT '',
    public_key         bytea       NOT NULL,
    attestation_format text        NOT NULL DEFAULT '',
    aaguid             bytea       NOT NULL,
    sign_count         bigint      NOT NULL DEFAULT 0 CHECK (sign_count BETWEEN 0 AND 4294967295),
    transports         text        NOT NULL DEFAULT '[]',
    user_verified      boolean     NOT NULL DEFAULT false,
    backup_eligible    boolean     NOT NULL DEFAULT false,
    backup_state       boolean     NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL,
    last_used_at       timestamptz,
    CONSTRAINT passkeys_pkey PRIMARY KEY (id)
);

-- Listing a user's passkeys, and the cascade from users.
CREATE INDEX passkeys_user_id_idx ON passkeys (user_id, created_at, id);

-- A ceremony lives minutes and is taken (deleted) once. user_id is NULL for
-- a usernameless sign-in (or an email with no account); a deleted user
-- takes its ceremonies along. mfa_token_id binds a second-factor ceremony
-- to its MFA token; it has no foreign key because MFA tokens may live in a
-- shared cache instead. data is the relying party's session data, opaque.
CREATE TABLE webauthn_ceremonies (
    id           text COLLATE "C" NOT NULL PRIMARY KEY,
    purpose      text        NOT NULL,
    user_id      text COLLATE "C" REFERENCES users (id) ON DELETE CASCADE,
    mfa_token_id text COLLATE "C",
    data         bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);

-- The cascade from users, and the hourly purge of expired ceremonies.
CREATE INDEX webauthn_ceremonies_user_id_idx ON webauthn_ceremonies (user_id);
CREATE INDEX webauthn_ceremonies_expires_at_idx ON webauthn_ceremonies (expires_at);

-- +goose Down
DROP TABLE webauthn_ceremonies;
DROP TABLE passkeys;
