-- The SQL outbox and its relay are gone: UserRegistered leaves through daprd's
-- outbox, in the state transaction that stores the account (003). 003 refused
-- to run while events were still waiting here.
DROP TABLE outbox;
