-- Staging seed for the Acme demo: written once, when idp first creates acme_staging.
-- The tables are the ones the demo services create on an empty database (users: users-api,
-- payments: payments-api), so the services run unchanged on staging and on its clones.
CREATE TABLE users (
  id          bigserial PRIMARY KEY,
  email       text NOT NULL UNIQUE,
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE payments (
  id          bigserial PRIMARY KEY,
  user_id     bigint REFERENCES users(id),
  amount_cents integer NOT NULL CHECK (amount_cents > 0),
  currency    char(3) NOT NULL DEFAULT 'EUR',
  description text,
  status      text NOT NULL DEFAULT 'captured',
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_user ON payments(user_id);
CREATE VIEW payment_totals AS
  SELECT user_id, count(*) AS payments, sum(amount_cents) AS total_cents FROM payments GROUP BY user_id;

INSERT INTO users (email, name)
  SELECT 'customer' || i || '@example.com', 'Customer ' || i FROM generate_series(1, 200) AS i;
INSERT INTO payments (user_id, amount_cents, currency, description, status)
  SELECT 1 + (i % 200), 100 + (i * 37) % 9900, CASE WHEN i % 5 = 0 THEN 'USD' ELSE 'EUR' END, 'order ' || i,
         CASE WHEN i % 17 = 0 THEN 'refunded' ELSE 'settled' END
  FROM generate_series(1, 1000) AS i;
