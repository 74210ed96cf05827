CREATE TABLE "slack_home_users" (
	"user_id" text PRIMARY KEY NOT NULL,
	"opened_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "slack_home_users_opened_idx" ON "slack_home_users" USING btree ("opened_at");