ALTER TABLE "conversations" ADD COLUMN "alert_window_start" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "alert_posts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "conversations" ADD COLUMN "alert_overflow" jsonb;--> statement-breakpoint
ALTER TABLE "incidents" ADD COLUMN "version" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "incidents" ADD COLUMN "alerted_version" integer DEFAULT 0 NOT NULL;