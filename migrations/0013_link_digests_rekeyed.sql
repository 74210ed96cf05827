-- A link given another id (its primary key updated) takes no digest along: the digest stayed under
-- the old id, where a link later given that id would have found it vouching for memberships it
-- never planned. The update trigger now also deletes the digests of ids an update left, as the
-- one on mappings does for a re-keyed mapping (0012).
CREATE OR REPLACE FUNCTION "group_digests_invalidate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM group_digests d USING old_rows o JOIN new_rows n ON n.id = o.id
  WHERE d.link_id = o.id AND (n.local_group_id, n.state) IS DISTINCT FROM (o.local_group_id, o.state);
  -- A link given another id: its digest goes with the old id.
  DELETE FROM group_digests d USING old_rows o
  WHERE d.link_id = o.id AND NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id);
  RETURN NULL;
END $$;
