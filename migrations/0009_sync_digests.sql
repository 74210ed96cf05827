CREATE TABLE "group_digests" (
	"link_id" integer PRIMARY KEY NOT NULL,
	"digest" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "user_digests" (
	"connection" text NOT NULL,
	"directory_id" text NOT NULL,
	"digest" text NOT NULL,
	CONSTRAINT "user_digests_connection_directory_id_pk" PRIMARY KEY("connection","directory_id")
);
--> statement-breakpoint
ALTER TABLE "group_digests" ADD CONSTRAINT "group_digests_link_id_group_links_id_fk" FOREIGN KEY ("link_id") REFERENCES "public"."group_links"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_digests" ADD CONSTRAINT "user_digests_connection_directory_id_mappings_connection_directory_id_fk" FOREIGN KEY ("connection","directory_id") REFERENCES "public"."mappings"("connection","directory_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- A digest vouches for the row it belongs to: any statement that changes what it vouches for
-- (an admin's decision, a local user or group deleted and the foreign key setting null, another
-- run) deletes it. Statement-level, over the transition tables, so a bulk update pays one join.
CREATE FUNCTION "user_digests_invalidate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM user_digests d USING old_rows o JOIN new_rows n ON n.connection = o.connection AND n.directory_id = o.directory_id
  WHERE d.connection = o.connection AND d.directory_id = o.directory_id
    AND (n.status, n.local_user_id, n.in_scope, n.dn, n.login, n.mail, n.display_name, n.enabled)
        IS DISTINCT FROM (o.status, o.local_user_id, o.in_scope, o.dn, o.login, o.mail, o.display_name, o.enabled);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "user_digests_invalidate" AFTER UPDATE ON "mappings" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "user_digests_invalidate"();
--> statement-breakpoint
CREATE FUNCTION "group_digests_invalidate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM group_digests d USING old_rows o JOIN new_rows n ON n.id = o.id
  WHERE d.link_id = o.id AND (n.local_group_id, n.state) IS DISTINCT FROM (o.local_group_id, o.state);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "group_digests_invalidate" AFTER UPDATE ON "group_links" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "group_digests_invalidate"();
