-- Production stand-in for the Acme demo: a few rows, so that the policies keeping production
-- data out of clones have something to keep. The users table is the one users-api creates (and
-- staging has), so the demo services run on production unchanged.
CREATE TABLE users (
  id          bigserial PRIMARY KEY,
  email       text NOT NULL UNIQUE,
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO users (email, name) VALUES ('real.customer@example.com', 'A real customer');
