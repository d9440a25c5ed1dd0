-- Gatehouse schema for PostgreSQL. Times are timestamptz (microsecond
-- precision); IDs compare byte-wise (COLLATE "C") so cursor paging orders
-- exactly as on SQLite whatever the database's locale.

-- +goose Up
CREATE TABLE users (
    id             text COLLATE "C" NOT NULL PRIMARY KEY,
    email          text        NOT NULL,
    email_verified boolean     NOT NULL DEFAULT false,
    phone          text,
    phone_verified boolean     NOT NULL DEFAULT false,
    name           text        NOT NULL DEFAULT '',
    password_hash  text        NOT NULL DEFAULT '',
    disabled_at    timestamptz,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_phone_key UNIQUE (phone)
);

CREATE TABLE sessions (
    id                  text COLLATE "C" NOT NULL PRIMARY KEY,
    user_id             text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    cookie_hash         bytea,
    ip                  text        NOT NULL DEFAULT '',
    user_agent          text        NOT NULL DEFAULT '',
    aal                 text        NOT NULL,
    amr                 text        NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL,
    last_seen_at        timestamptz NOT NULL,
    expires_at          timestamptz NOT NULL,
    absolute_expires_at timestamptz NOT NULL,
    revoked_at          timestamptz,
    CONSTRAINT sessions_cookie_hash_key UNIQUE (cookie_hash)
);

CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE refresh_tokens (
    id           text COLLATE "C" NOT NULL PRIMARY KEY,
    session_id   text COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    hash         bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    rotated_at   timestamptz,
    successor_id text COLLATE "C",
    CONSTRAINT refresh_tokens_hash_key UNIQUE (hash)
);

CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

CREATE TABLE signing_keys (
    id          text COLLATE "C" NOT NULL PRIMARY KEY,
    algorithm   text        NOT NULL,
    private_key bytea       NOT NULL,
    public_key  bytea       NOT NULL,
    created_at  timestamptz NOT NULL,
    retired_at  timestamptz
);

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
