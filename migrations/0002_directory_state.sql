CREATE TABLE "directory_state" (
	"connection" text PRIMARY KEY NOT NULL,
	"cursor" jsonb NOT NULL,
	"cache" "bytea",
	"run_id" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "directory_state" ADD CONSTRAINT "directory_state_connection_connections_name_fk" FOREIGN KEY ("connection") REFERENCES "public"."connections"("name") ON DELETE cascade ON UPDATE no action;