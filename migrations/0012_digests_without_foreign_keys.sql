ALTER TABLE "group_digests" DROP CONSTRAINT "group_digests_link_id_group_links_id_fk";
--> statement-breakpoint
ALTER TABLE "user_digests" DROP CONSTRAINT "user_digests_connection_directory_id_mappings_connection_directory_id_fk";
--> statement-breakpoint
-- A digest is a cache of what a run vouched for, used only joined with its row: checking a foreign
-- key for each digest a first sync writes cost more than writing it. Statement-level triggers
-- delete the digests of rows deleted (cascades from a removed connection included), truncated or
-- given another key, over the transition tables: one join per statement, so no digest outlives
-- its row.
CREATE FUNCTION "user_digests_forget"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM user_digests d USING changed_rows c WHERE d.connection = c.connection AND d.directory_id = c.directory_id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "user_digests_forget_deleted" AFTER DELETE ON "mappings" REFERENCING OLD TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "user_digests_forget"();
--> statement-breakpoint
CREATE FUNCTION "group_digests_forget"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM group_digests d USING changed_rows c WHERE d.link_id = c.id;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "group_digests_forget_deleted" AFTER DELETE ON "group_links" REFERENCING OLD TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "group_digests_forget"();
--> statement-breakpoint
CREATE FUNCTION "digests_forget_all"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'mappings' THEN TRUNCATE user_digests; ELSE TRUNCATE group_digests; END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "user_digests_forget_truncated" AFTER TRUNCATE ON "mappings" FOR EACH STATEMENT EXECUTE FUNCTION "digests_forget_all"();
--> statement-breakpoint
CREATE TRIGGER "group_digests_forget_truncated" AFTER TRUNCATE ON "group_links" FOR EACH STATEMENT EXECUTE FUNCTION "digests_forget_all"();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "user_digests_invalidate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM user_digests d USING old_rows o JOIN new_rows n ON n.connection = o.connection AND n.directory_id = o.directory_id
  WHERE d.connection = o.connection AND d.directory_id = o.directory_id
    AND (n.status, n.local_user_id, n.in_scope, n.dn, n.login, n.mail, n.display_name, n.enabled)
        IS DISTINCT FROM (o.status, o.local_user_id, o.in_scope, o.dn, o.login, o.mail, o.display_name, o.enabled);
  -- A row given another key: its digest goes with the old key.
  DELETE FROM user_digests d USING old_rows o
  WHERE d.connection = o.connection AND d.directory_id = o.directory_id
    AND NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.connection = o.connection AND n.directory_id = o.directory_id);
  RETURN NULL;
END $$;
