ALTER TABLE "group_links" ADD COLUMN "member_digest" text;--> statement-breakpoint
ALTER TABLE "mappings" ADD COLUMN "digest" text;--> statement-breakpoint
-- A digest vouches for the row it is stored on: any change of what it vouches for, by whoever
-- (an admin's decision, a local user or group deleted, another run), clears it, unless the same
-- statement writes a new digest.
CREATE FUNCTION "mappings_digest_invalidate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.digest IS NOT DISTINCT FROM OLD.digest
     AND (NEW.status, NEW.local_user_id, NEW.in_scope, NEW.dn, NEW.login, NEW.mail, NEW.display_name, NEW.enabled)
         IS DISTINCT FROM (OLD.status, OLD.local_user_id, OLD.in_scope, OLD.dn, OLD.login, OLD.mail, OLD.display_name, OLD.enabled) THEN
    NEW.digest := NULL;
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER "mappings_digest_invalidate" BEFORE UPDATE ON "mappings" FOR EACH ROW WHEN (OLD.digest IS NOT NULL) EXECUTE FUNCTION "mappings_digest_invalidate"();
--> statement-breakpoint
CREATE FUNCTION "group_links_digest_invalidate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.member_digest IS NOT DISTINCT FROM OLD.member_digest
     AND (NEW.local_group_id, NEW.state, NEW.connection, NEW.directory_id) IS DISTINCT FROM (OLD.local_group_id, OLD.state, OLD.connection, OLD.directory_id) THEN
    NEW.member_digest := NULL;
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER "group_links_digest_invalidate" BEFORE UPDATE ON "group_links" FOR EACH ROW WHEN (OLD.member_digest IS NOT NULL) EXECUTE FUNCTION "group_links_digest_invalidate"();
