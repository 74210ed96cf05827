-- The statements of the digest triggers join the transition tables (old_rows, new_rows). PL/pgSQL
-- keeps a statement's plan for the session: planned once for an update of one row, the join of the
-- two tables stayed a nested loop for every later update, 1,000 × 1,000 comparisons for 1,000
-- changed mappings (1.2 s; 10,000 rows a statement would take minutes). EXECUTE plans them for
-- the transition tables each call has (a hash join), at the cost of planning once per statement.
CREATE OR REPLACE FUNCTION "user_digests_invalidate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE $q$
    DELETE FROM user_digests d USING old_rows o JOIN new_rows n ON n.connection = o.connection AND n.directory_id = o.directory_id
    WHERE d.connection = o.connection AND d.directory_id = o.directory_id
      AND (n.status, n.local_user_id, n.in_scope, n.dn, n.login, n.mail, n.display_name, n.enabled)
          IS DISTINCT FROM (o.status, o.local_user_id, o.in_scope, o.dn, o.login, o.mail, o.display_name, o.enabled)$q$;
  -- A row given another key: its digest goes with the old key.
  EXECUTE $q$
    DELETE FROM user_digests d USING old_rows o
    WHERE d.connection = o.connection AND d.directory_id = o.directory_id
      AND NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.connection = o.connection AND n.directory_id = o.directory_id)$q$;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "group_digests_invalidate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE $q$
    DELETE FROM group_digests d USING old_rows o JOIN new_rows n ON n.id = o.id
    WHERE d.link_id = o.id AND (n.local_group_id, n.state) IS DISTINCT FROM (o.local_group_id, o.state)$q$;
  -- A link given another id: its digest goes with the old id.
  EXECUTE $q$
    DELETE FROM group_digests d USING old_rows o
    WHERE d.link_id = o.id AND NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id)$q$;
  RETURN NULL;
END $$;
