ALTER TABLE "incidents" ADD COLUMN "alerted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "incidents" ADD COLUMN "resolve_alerted_at" timestamp with time zone;