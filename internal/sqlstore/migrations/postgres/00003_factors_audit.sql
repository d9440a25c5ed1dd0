-- Second factors (factors), backup codes, the tokens that carry a sign-in
-- from its first factor to its second (mfa_tokens), and the audit trail
-- (audit_events). Same conventions as 00001.

-- +goose Up
-- A TOTP factor starts unconfirmed (an enrolment) and is confirmed with a
-- code. A user has at most one confirmed and at most one unconfirmed factor
-- of each kind: the two partial unique indexes below. PutFactor replaces
-- the unconfirmed one and refuses a factor of a kind that has a confirmed
-- one, under a lock on the user's row; the indexes hold that line even so.
-- secret is the TOTP secret sealed under the server secret (NULL for the
-- email factor); last_step is the last TOTP time step accepted, so a code
-- is accepted once.
CREATE TABLE factors (
    id           text COLLATE "C" NOT NULL PRIMARY KEY,
    user_id      text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         text        NOT NULL,
    secret       bytea,
    last_step    bigint      NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL,
    confirmed_at timestamptz
);

CREATE UNIQUE INDEX factors_confirmed_key ON factors (user_id, kind)
    WHERE confirmed_at IS NOT NULL;
CREATE UNIQUE INDEX factors_pending_key ON factors (user_id, kind)
    WHERE confirmed_at IS NULL;
-- Listing a user's factors, and the cascade from users.
CREATE INDEX factors_user_id_idx ON factors (user_id, created_at, id);

-- Backup codes, hashed; used_at marks a used one. The unique key also
-- serves every lookup (all are by user) and the cascade.
CREATE TABLE backup_codes (
    id         text COLLATE "C" NOT NULL PRIMARY KEY,
    user_id    text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash       bytea       NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL,
    CONSTRAINT backup_codes_user_hash_key UNIQUE (user_id, hash)
);

-- The proof of a first factor, waiting for the second: only its hash is
-- kept. amr holds the first factor's methods, space-separated.
-- email_code_hash is the outstanding emailed second-factor code, if any.
CREATE TABLE mfa_tokens (
    id                    text COLLATE "C" NOT NULL PRIMARY KEY,
    user_id               text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash                  bytea       NOT NULL,
    amr                   text        NOT NULL DEFAULT '',
    attempts              integer     NOT NULL DEFAULT 0,
    email_code_hash       bytea,
    email_code_expires_at timestamptz,
    created_at            timestamptz NOT NULL,
    expires_at            timestamptz NOT NULL,
    consumed_at           timestamptz,
    browser               boolean     NOT NULL DEFAULT false,
    redirect_to           text        NOT NULL DEFAULT '',
    CONSTRAINT mfa_tokens_hash_key UNIQUE (hash)
);

CREATE INDEX mfa_tokens_user_id_idx ON mfa_tokens (user_id);

-- The audit trail. user_id has no foreign key on purpose: deleting a user
-- keeps its events (who did what stays answerable after the account is
-- gone). It is NULL for an event of no user.
CREATE TABLE audit_events (
    id         text COLLATE "C" NOT NULL PRIMARY KEY,
    user_id    text COLLATE "C",
    kind       text        NOT NULL,
    ip         text        NOT NULL DEFAULT '',
    user_agent text        NOT NULL DEFAULT '',
    detail     text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL
);

-- Listing for admins, newest first, of one user and of all.
CREATE INDEX audit_events_user_idx ON audit_events (user_id, created_at, id);
CREATE INDEX audit_events_list_idx ON audit_events (created_at, id);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE mfa_tokens;
DROP TABLE backup_codes;
DROP TABLE factors;
