CREATE TABLE "store_generation" (
	"id" boolean PRIMARY KEY DEFAULT true NOT NULL,
	"n" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "directory_state" ADD COLUMN "planned_generation" bigint;--> statement-breakpoint
ALTER TABLE "directory_state" ADD COLUMN "plan_key" text;--> statement-breakpoint
-- One row, always (store/generation.ts).
ALTER TABLE "store_generation" ADD CONSTRAINT "store_generation_one_row" CHECK ("id");--> statement-breakpoint
INSERT INTO "store_generation" ("id", "n") VALUES (true, 0);--> statement-breakpoint
-- Every statement that writes a table a plan reads moves the generation, whoever runs it.
CREATE FUNCTION "store_generation_bump"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "store_generation" SET "n" = "n" + 1;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "local_users_generation" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "local_users" FOR EACH STATEMENT EXECUTE FUNCTION "store_generation_bump"();--> statement-breakpoint
CREATE TRIGGER "local_groups_generation" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "local_groups" FOR EACH STATEMENT EXECUTE FUNCTION "store_generation_bump"();--> statement-breakpoint
CREATE TRIGGER "memberships_generation" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "memberships" FOR EACH STATEMENT EXECUTE FUNCTION "store_generation_bump"();--> statement-breakpoint
CREATE TRIGGER "mappings_generation" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "mappings" FOR EACH STATEMENT EXECUTE FUNCTION "store_generation_bump"();--> statement-breakpoint
CREATE TRIGGER "group_links_generation" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "group_links" FOR EACH STATEMENT EXECUTE FUNCTION "store_generation_bump"();--> statement-breakpoint
CREATE TRIGGER "duplicates_generation" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "duplicates" FOR EACH STATEMENT EXECUTE FUNCTION "store_generation_bump"();
