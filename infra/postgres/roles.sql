-- One Postgres role per service, owning its own schema and reaching nothing
-- else. Run as a superuser in the system's database: by docker compose at the
-- first start (docker-entrypoint-initdb.d), by `pnpm start`, by the e2e harness.
-- Safe to run twice. The passwords are DEVELOPMENT credentials for this local
-- reference stack.
DO $$
DECLARE
  svc record;
  rel record;
BEGIN
  FOR svc IN SELECT * FROM (VALUES
      ('order_svc', 'order-dev-password', 'orders'),
      ('inventory_svc', 'inventory-dev-password', 'inventory'),
      ('payment_svc', 'payment-dev-password', 'payments'),
      ('notification_svc', 'notification-dev-password', 'notifications')
    ) AS t(role, password, schema)
  LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = svc.role) THEN
      EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', svc.role, svc.password);
    END IF;
    EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', svc.schema, svc.role);
    EXECUTE format('ALTER SCHEMA %I OWNER TO %I', svc.schema, svc.role);
    EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', svc.schema);
    -- Adopt tables made before the roles existed (their sequences follow them).
    FOR rel IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = svc.schema AND c.relkind IN ('r', 'p', 'v', 'm')
    LOOP
      EXECUTE format('ALTER TABLE %I.%I OWNER TO %I', svc.schema, rel.relname, svc.role);
    END LOOP;
    -- CREATE SCHEMA IF NOT EXISTS (its migrations) needs CREATE on the database.
    EXECUTE format('GRANT CONNECT, CREATE ON DATABASE %I TO %I', current_database(), svc.role);
  END LOOP;
END
$$;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
