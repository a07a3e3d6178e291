-- Payments live in Dapr's state table (state.postgresql v1, keyPrefix none):
-- key "payment:<orderId>", value the jsonb Payment that is also the published
-- event. daprd creates the table; this index makes the database refuse a
-- Midtrans transaction recorded on two payments, however many payment
-- instances there are. Payments without a transaction id yet (PENDING, no
-- payment method chosen) are left out. Outbox markers ("outbox-<uuid>",
-- value "0") are not payments: ->> on a jsonb string is NULL.
CREATE UNIQUE INDEX IF NOT EXISTS payment_transaction_id_unique
    ON payment_state ((value->>'transactionId'))
    WHERE split_part(key, ':', 1) = 'payment'
      AND coalesce(value->>'transactionId', '') <> '';
