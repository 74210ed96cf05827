ALTER TABLE "mappings" DROP CONSTRAINT "mappings_connection_connections_name_fk";
--> statement-breakpoint
-- A mapping's connection was a foreign key: checked for each row, 1.1 s of a first sync's copy of
-- 100,000 mappings, all of one connection. These triggers keep the same rules, inserted mappings
-- checked once per statement over the transition table: the connections they name exist (each
-- locked FOR KEY SHARE, as the key's check locks it, so a concurrent deletion waits for the
-- writer); a connection deleted takes its mappings along; a mapping moved to another connection
-- must name one that exists; a connection renamed or truncated while mappings name it is refused.
CREATE FUNCTION "mappings_connection_check"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  wanted int;
  found int;
BEGIN
  EXECUTE $q$ SELECT count(DISTINCT connection)::int FROM new_rows $q$ INTO wanted;
  EXECUTE $q$ SELECT count(*)::int FROM (SELECT 1 FROM connections c WHERE c.name IN (SELECT DISTINCT connection FROM new_rows) FOR KEY SHARE OF c) x $q$ INTO found;
  IF found < wanted THEN
    RAISE EXCEPTION 'insert on table "mappings" violates its connection check: the connection does not exist'
      USING ERRCODE = 'foreign_key_violation', TABLE = 'mappings';
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "mappings_connection_inserted" AFTER INSERT ON "mappings" REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "mappings_connection_check"();
--> statement-breakpoint
CREATE FUNCTION "mappings_connection_moved"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM connections c WHERE c.name = NEW.connection FOR KEY SHARE OF c;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'update on table "mappings" violates its connection check: the connection does not exist'
      USING ERRCODE = 'foreign_key_violation', TABLE = 'mappings';
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "mappings_connection_moved" AFTER UPDATE OF "connection" ON "mappings"
  FOR EACH ROW WHEN (OLD.connection IS DISTINCT FROM NEW.connection) EXECUTE FUNCTION "mappings_connection_moved"();
--> statement-breakpoint
CREATE FUNCTION "connections_mappings_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE $q$ DELETE FROM mappings m USING old_rows o WHERE m.connection = o.name $q$;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "connections_mappings_deleted" AFTER DELETE ON "connections" REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "connections_mappings_deleted"();
--> statement-breakpoint
CREATE FUNCTION "connections_mappings_kept"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (TG_OP = 'UPDATE' AND EXISTS (SELECT 1 FROM mappings m WHERE m.connection = OLD.name))
     OR (TG_OP = 'TRUNCATE' AND EXISTS (SELECT 1 FROM mappings)) THEN
    RAISE EXCEPTION '% on table "connections" violates the connection check of "mappings": mappings name it', lower(TG_OP)
      USING ERRCODE = 'foreign_key_violation', TABLE = 'connections';
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "connections_mappings_renamed" AFTER UPDATE OF "name" ON "connections"
  FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION "connections_mappings_kept"();
--> statement-breakpoint
CREATE TRIGGER "connections_mappings_truncated" AFTER TRUNCATE ON "connections"
  FOR EACH STATEMENT EXECUTE FUNCTION "connections_mappings_kept"();
