CREATE TABLE "chat_requests" (
	"key" text PRIMARY KEY NOT NULL,
	"seen_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "chat_requests_seen_idx" ON "chat_requests" USING btree ("seen_at");