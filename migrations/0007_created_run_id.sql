ALTER TABLE "local_groups" ADD COLUMN "created_run_id" integer;--> statement-breakpoint
ALTER TABLE "local_users" ADD COLUMN "created_run_id" integer;