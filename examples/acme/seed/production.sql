-- Production stand-in for the Acme demo: a few rows, so that the policies keeping production
-- data out of clones have something to keep.
CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, name text NOT NULL);
INSERT INTO users (email, name) VALUES ('real.customer@example.com', 'A real customer');
