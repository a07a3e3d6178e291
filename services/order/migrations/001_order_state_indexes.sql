-- Orders live in Dapr's state table (state.postgresql v1, component
-- order-state, keyPrefix none): key "order:<id>", value the jsonb Order
-- (protojson: userId, status, refundRequested, createdAt, updatedAt...) that
-- is also the published event. The table holds daprd's outbox markers
-- ("outbox-<uuid>", value a JSON string) too: every index below is limited
-- to order rows. daprd creates the table; these indexes make the database
-- enforce the one rule that spans orders and serve the service's reads.
-- The stamps are RFC 3339 UTC with a fixed number of digits
-- (internal/orders.Stamp), so they sort as text in time order.

-- One open order per user: a second PENDING or PAID order of the same user
-- fails its state transaction (daprd passes the name on in its error text;
-- internal/statestore maps it to order_pending). Under READ COMMITTED two
-- racing inserts serialise on the index entry: the second waits for the
-- first and fails once it commits.
CREATE UNIQUE INDEX IF NOT EXISTS order_one_open_per_user
    ON order_state ((value->>'userId'))
    WHERE split_part(key, ':', 1) = 'order'
      AND value->>'status' IN ('PENDING', 'PAID');

-- A user's history, newest first (GET /internal/orders?userId=).
CREATE INDEX IF NOT EXISTS order_history
    ON order_state ((value->>'userId'), (value->>'createdAt') DESC, key DESC)
    WHERE split_part(key, ':', 1) = 'order';

-- Orders the saga is not done with, by when it last moved (the sweep and
-- GET /internal/orders/stuck): PENDING, PAID, and CANCELLED with a refund
-- requested (paid after it was cancelled). The queries repeat this
-- predicate so that the planner can use the index.
CREATE INDEX IF NOT EXISTS order_unsettled
    ON order_state ((value->>'updatedAt'), key)
    WHERE split_part(key, ':', 1) = 'order'
      AND (value->>'status' IN ('PENDING', 'PAID')
           OR (value->>'status' = 'CANCELLED' AND value->>'refundRequested' = 'true'));
