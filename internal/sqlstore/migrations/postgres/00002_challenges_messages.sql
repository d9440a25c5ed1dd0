-- One-time codes and magic links (challenges), and the durable outbox of
-- the messages that carry them (messages). Same conventions as 00001.

-- +goose Up
-- At most one challenge per purpose and address: a new request replaces the
-- old one (PutChallenge upserts on this key). user_id is NULL when no
-- account had the address (passwordless sign-up); a deleted user takes its
-- challenges along.
CREATE TABLE challenges (
    id              text COLLATE "C" NOT NULL PRIMARY KEY,
    purpose         text        NOT NULL,
    address         text        NOT NULL,
    user_id         text COLLATE "C" REFERENCES users (id) ON DELETE CASCADE,
    code_hash       bytea       NOT NULL,
    link_hash       bytea,
    redirect_to     text        NOT NULL DEFAULT '',
    attempts        integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    link_expires_at timestamptz,
    consumed_at     timestamptz,
    CONSTRAINT challenges_purpose_address_key UNIQUE (purpose, address),
    CONSTRAINT challenges_link_hash_key UNIQUE (link_hash)
);

CREATE INDEX challenges_user_id_idx ON challenges (user_id);

-- The outbox. payload (the sealed rendered message, which holds a code) is
-- emptied once the message is sent or given up. locked_until is the lease
-- of the worker that claimed the message; a lease that runs out (a worker
-- that died) makes the message claimable again. Workers on several nodes
-- claim with FOR UPDATE SKIP LOCKED.
CREATE TABLE messages (
    id              text COLLATE "C" NOT NULL PRIMARY KEY,
    kind            text        NOT NULL,
    channel         text        NOT NULL,
    recipient       text        NOT NULL,
    payload         bytea       NOT NULL,
    status          text        NOT NULL DEFAULT 'pending',
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    locked_until    timestamptz,
    last_error      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz,
    failed_at       timestamptz,
    CONSTRAINT messages_status_check CHECK (status IN ('pending', 'sent', 'failed', 'suppressed'))
);

-- Claiming: pending messages in the order they are claimed (oldest
-- first). Partial, so it holds only the few pending rows, however many sent
-- ones pile up, and a claim reads it in order and stops at its limit.
CREATE INDEX messages_claim_idx ON messages (created_at, id, next_attempt_at)
    WHERE status = 'pending';
-- Listing for admins, newest first, with and without a status.
CREATE INDEX messages_status_list_idx ON messages (status, created_at, id);
CREATE INDEX messages_list_idx ON messages (created_at, id);

-- +goose Down
DROP TABLE messages;
DROP TABLE challenges;
