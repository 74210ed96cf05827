CREATE TABLE "audit_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"connection" text,
	"run_id" integer,
	"target_type" text NOT NULL,
	"target_id" text NOT NULL,
	"before" jsonb,
	"after" jsonb
);
--> statement-breakpoint
CREATE TABLE "connections" (
	"name" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"vendor" text,
	"certificate" jsonb,
	"certificate_checked_at" timestamp with time zone,
	"lock_holder" text,
	"lock_run_id" integer,
	"locked_at" timestamp with time zone,
	"lock_expires_at" timestamp with time zone,
	"last_run_at" timestamp with time zone,
	"last_success_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "conversations" (
	"id" serial PRIMARY KEY NOT NULL,
	"surface" text NOT NULL,
	"conversation_key" text NOT NULL,
	"reference" jsonb NOT NULL,
	"subscribed" boolean DEFAULT false NOT NULL,
	"updated_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "duplicates" (
	"id" serial PRIMARY KEY NOT NULL,
	"connection" text NOT NULL,
	"directory_id" text NOT NULL,
	"dn" text,
	"name" text NOT NULL,
	"local_group_id" integer,
	"status" text DEFAULT 'pending' NOT NULL,
	"resolved_by" text,
	"resolved_at" timestamp with time zone,
	"detected_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "group_links" (
	"id" serial PRIMARY KEY NOT NULL,
	"connection" text NOT NULL,
	"directory_id" text NOT NULL,
	"dn" text,
	"name" text NOT NULL,
	"description" text,
	"kind" text NOT NULL,
	"origin" text NOT NULL,
	"state" text DEFAULT 'active' NOT NULL,
	"local_group_id" integer,
	"last_synced_at" timestamp with time zone,
	"last_run_id" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "held_plans" (
	"run_id" integer PRIMARY KEY NOT NULL,
	"plan" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "incidents" (
	"id" serial PRIMARY KEY NOT NULL,
	"connection" text NOT NULL,
	"link_id" integer,
	"cause" text NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"run_id" integer,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"deliveries" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"opened_at" timestamp with time zone DEFAULT now() NOT NULL,
	"resolved_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "local_groups" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"kind" text DEFAULT 'group' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "local_users" (
	"id" serial PRIMARY KEY NOT NULL,
	"login" text,
	"mail" text,
	"display_name" text,
	"active" boolean DEFAULT true NOT NULL,
	"attributes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_by_connection" text,
	"deactivated_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "mappings" (
	"connection" text NOT NULL,
	"directory_id" text NOT NULL,
	"dn" text,
	"login" text,
	"mail" text,
	"display_name" text,
	"enabled" boolean DEFAULT true NOT NULL,
	"in_scope" boolean DEFAULT true NOT NULL,
	"status" text NOT NULL,
	"local_user_id" integer,
	"candidates" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"reason" text,
	"resolved_by" text,
	"resolved_at" timestamp with time zone,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "mappings_connection_directory_id_pk" PRIMARY KEY("connection","directory_id")
);
--> statement-breakpoint
CREATE TABLE "memberships" (
	"group_id" integer NOT NULL,
	"user_id" integer NOT NULL,
	CONSTRAINT "memberships_group_id_user_id_pk" PRIMARY KEY("group_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "runs" (
	"id" serial PRIMARY KEY NOT NULL,
	"connection" text NOT NULL,
	"trigger" text NOT NULL,
	"actor" text NOT NULL,
	"dry_run" boolean DEFAULT false NOT NULL,
	"kind_filter" text,
	"group_filter" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"status" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"error_code" text,
	"error" text,
	"groups_created" integer DEFAULT 0 NOT NULL,
	"groups_modified" integer DEFAULT 0 NOT NULL,
	"groups_deleted" integer DEFAULT 0 NOT NULL,
	"groups_duplicated" integer DEFAULT 0 NOT NULL,
	"users_created" integer DEFAULT 0 NOT NULL,
	"users_updated" integer DEFAULT 0 NOT NULL,
	"users_deactivated" integer DEFAULT 0 NOT NULL,
	"users_conflicts" integer DEFAULT 0 NOT NULL,
	"users_ignored" integer DEFAULT 0 NOT NULL,
	"memberships_added" integer DEFAULT 0 NOT NULL,
	"memberships_removed" integer DEFAULT 0 NOT NULL,
	"summary" jsonb,
	"skipped" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"stats" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"decided_by" text,
	"decided_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "duplicates" ADD CONSTRAINT "duplicates_connection_connections_name_fk" FOREIGN KEY ("connection") REFERENCES "public"."connections"("name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "duplicates" ADD CONSTRAINT "duplicates_local_group_id_local_groups_id_fk" FOREIGN KEY ("local_group_id") REFERENCES "public"."local_groups"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "group_links" ADD CONSTRAINT "group_links_connection_connections_name_fk" FOREIGN KEY ("connection") REFERENCES "public"."connections"("name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "group_links" ADD CONSTRAINT "group_links_local_group_id_local_groups_id_fk" FOREIGN KEY ("local_group_id") REFERENCES "public"."local_groups"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "held_plans" ADD CONSTRAINT "held_plans_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mappings" ADD CONSTRAINT "mappings_connection_connections_name_fk" FOREIGN KEY ("connection") REFERENCES "public"."connections"("name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mappings" ADD CONSTRAINT "mappings_local_user_id_local_users_id_fk" FOREIGN KEY ("local_user_id") REFERENCES "public"."local_users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_group_id_local_groups_id_fk" FOREIGN KEY ("group_id") REFERENCES "public"."local_groups"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_user_id_local_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."local_users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "runs" ADD CONSTRAINT "runs_connection_connections_name_fk" FOREIGN KEY ("connection") REFERENCES "public"."connections"("name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_run_idx" ON "audit_log" USING btree ("run_id");--> statement-breakpoint
CREATE INDEX "audit_connection_idx" ON "audit_log" USING btree ("connection","at");--> statement-breakpoint
CREATE UNIQUE INDEX "conversations_key" ON "conversations" USING btree ("surface","conversation_key");--> statement-breakpoint
CREATE UNIQUE INDEX "duplicates_directory_key" ON "duplicates" USING btree ("connection","directory_id");--> statement-breakpoint
CREATE UNIQUE INDEX "group_links_directory_key" ON "group_links" USING btree ("connection","directory_id");--> statement-breakpoint
CREATE UNIQUE INDEX "incidents_open_key" ON "incidents" USING btree ("connection",coalesce("link_id", 0),"cause") WHERE "incidents"."status" = 'open';--> statement-breakpoint
CREATE UNIQUE INDEX "local_groups_name_key" ON "local_groups" USING btree (lower("name"));--> statement-breakpoint
CREATE INDEX "local_users_mail_idx" ON "local_users" USING btree (lower("mail"));--> statement-breakpoint
CREATE INDEX "local_users_login_idx" ON "local_users" USING btree (lower("login"));--> statement-breakpoint
CREATE INDEX "mappings_local_user_idx" ON "mappings" USING btree ("local_user_id");--> statement-breakpoint
CREATE INDEX "mappings_status_idx" ON "mappings" USING btree ("connection","status");--> statement-breakpoint
CREATE INDEX "memberships_user_idx" ON "memberships" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "runs_connection_idx" ON "runs" USING btree ("connection","id");