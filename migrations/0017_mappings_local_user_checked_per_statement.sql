ALTER TABLE "mappings" DROP CONSTRAINT "mappings_local_user_id_local_users_id_fk";--> statement-breakpoint
-- A mapping's local user was a foreign key: checked for each row, 0.5 s of a first sync's copy of
-- 100,000 mappings. These triggers keep the key's rules, checked once per statement over the
-- transition tables: the local users that inserted mappings name, or that updated mappings newly
-- name, exist; a local user deleted leaves the mappings that named it without a local user (the
-- key's ON DELETE SET NULL); a local user's id cannot change, nor local_users be truncated, while
-- mappings name it. As the key's check does, the local users named are locked FOR KEY SHARE, so a
-- concurrent deletion waits for the writer; unless the transaction holds a lock on local_users
-- that no deletion can share already (a first sync's bulk load locks it exclusively), as each row
-- lock is a write of its own (0.3 s for 100,000). A million mappings inserted in one statement
-- (indexes alone: 4.1-4.8 s): with the key 11.3-12.4 s, with these triggers under the bulk
-- load's lock 6.0-7.1 s.
CREATE FUNCTION "mappings_local_user_check"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  named text;
  missing boolean;
BEGIN
  IF TG_OP = 'INSERT' THEN
    named := $q$ SELECT n.local_user_id AS id FROM new_rows n WHERE n.local_user_id IS NOT NULL $q$;
  ELSE
    -- An update: the mappings whose local user changed, or that were given another key.
    named := $q$ SELECT n.local_user_id AS id FROM new_rows n WHERE n.local_user_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.connection = n.connection AND o.directory_id = n.directory_id
                      AND o.local_user_id = n.local_user_id) $q$;
  END IF;
  -- Locked first (a deletion under way is waited for, and one committed meanwhile is seen below),
  -- unless no deletion can share the transaction's lock on local_users.
  IF NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'relation' AND l.relation = 'local_users'::regclass
                 AND l.pid = pg_backend_pid() AND l.granted
                 AND l.mode IN ('ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')) THEN
    EXECUTE format($q$ SELECT 1 FROM local_users u WHERE u.id IN (%s) FOR KEY SHARE OF u $q$, named);
  END IF;
  -- One anti-join (no count of distinct ids: at a million mappings that sorted on disk).
  EXECUTE format($q$ SELECT EXISTS (SELECT 1 FROM (%s) w WHERE NOT EXISTS (SELECT 1 FROM local_users u WHERE u.id = w.id)) $q$, named)
    INTO missing;
  IF missing THEN
    RAISE EXCEPTION '% on table "mappings" violates its local user check: the local user does not exist', lower(TG_OP)
      USING ERRCODE = 'foreign_key_violation', TABLE = 'mappings';
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "mappings_local_user_inserted" AFTER INSERT ON "mappings" REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "mappings_local_user_check"();
--> statement-breakpoint
CREATE TRIGGER "mappings_local_user_updated" AFTER UPDATE ON "mappings" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "mappings_local_user_check"();
--> statement-breakpoint
CREATE FUNCTION "local_users_mappings_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE $q$ UPDATE mappings SET local_user_id = NULL WHERE local_user_id IN (SELECT id FROM old_rows) $q$;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "local_users_mappings_deleted" AFTER DELETE ON "local_users" REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "local_users_mappings_deleted"();
--> statement-breakpoint
CREATE FUNCTION "local_users_mappings_kept"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (TG_OP = 'UPDATE' AND EXISTS (SELECT 1 FROM mappings m WHERE m.local_user_id = OLD.id))
     OR (TG_OP = 'TRUNCATE' AND EXISTS (SELECT 1 FROM mappings m WHERE m.local_user_id IS NOT NULL)) THEN
    RAISE EXCEPTION '% on table "local_users" violates the local user check of "mappings": mappings name it', lower(TG_OP)
      USING ERRCODE = 'foreign_key_violation', TABLE = 'local_users';
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "local_users_mappings_renumbered" AFTER UPDATE OF "id" ON "local_users"
  FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION "local_users_mappings_kept"();
--> statement-breakpoint
CREATE TRIGGER "local_users_mappings_truncated" AFTER TRUNCATE ON "local_users"
  FOR EACH STATEMENT EXECUTE FUNCTION "local_users_mappings_kept"();
