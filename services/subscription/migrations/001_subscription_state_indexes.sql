-- Plans, subscriptions and refusals live in Dapr's state table
-- (state.postgresql v1, keyPrefix none): key "<kind>:<id>" (plan:<id>,
-- subscription:<orderId>, refusal:<orderId>), value the jsonb protojson
-- document that is also the published event. daprd creates the table; these
-- indexes make the database enforce the saga's rules and serve the reads.
-- Dapr's outbox markers ("outbox-<uuid>", no colon) match no predicate here.

-- A user has at most one ACTIVE subscription. A grant that would make a
-- second one (two orders of one user granted at once, by two instances)
-- fails here; the grant is redelivered and then refuses. The grant that
-- replaces an ended subscription updates it to EXPIRED earlier in the same
-- transaction (unique indexes are checked per statement).
CREATE UNIQUE INDEX IF NOT EXISTS subscription_one_active_per_user
    ON subscription_state ((value->>'userId'))
    WHERE split_part(key, ':', 1) = 'subscription' AND value->>'status' = 'ACTIVE';

-- An order is granted or refused, never both: subscription:<id> and
-- refusal:<id> are each insert-only, and this index keeps them from
-- coexisting when two deliveries of one order decide differently at once
-- (the plan deactivated in between, say).
CREATE UNIQUE INDEX IF NOT EXISTS subscription_one_outcome_per_order
    ON subscription_state ((substr(key, strpos(key, ':') + 1)))
    WHERE split_part(key, ':', 1) IN ('subscription', 'refusal');

-- Plan names are unique, ignoring case, among all plans (deactivated ones
-- too: an admin re-activates a plan rather than making its twin).
CREATE UNIQUE INDEX IF NOT EXISTS subscription_plan_unique_name
    ON subscription_state (lower(value->>'name'))
    WHERE split_part(key, ':', 1) = 'plan';

-- The expiry job: ACTIVE subscriptions by end time. endAt is always
-- "YYYY-MM-DDTHH:MM:SSZ" (UTC, one width), so it sorts as text in time
-- order; COLLATE "C" makes that a byte order whatever the database's locale.
CREATE INDEX IF NOT EXISTS subscription_active_by_end
    ON subscription_state (((value->>'endAt') COLLATE "C"))
    WHERE split_part(key, ':', 1) = 'subscription' AND value->>'status' = 'ACTIVE';

-- A user's subscriptions, newest first.
CREATE INDEX IF NOT EXISTS subscription_by_user
    ON subscription_state ((value->>'userId'), ((value->>'startAt') COLLATE "C"))
    WHERE split_part(key, ':', 1) = 'subscription';
