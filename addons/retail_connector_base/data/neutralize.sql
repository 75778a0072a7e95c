-- Retail Connector: a neutralised copy calls no channel; backends' secrets stay stored, unused
UPDATE retail_backend
   SET active = false;
-- the sync policies' schedules (base's neutralisation turns every cron off as well)
UPDATE ir_cron
   SET active = false
 WHERE id IN (SELECT cron_id FROM retail_sync_policy WHERE cron_id IS NOT NULL);
-- what was waiting to call a channel or apply an event
UPDATE queue_job
   SET state = 'cancelled'
 WHERE state NOT IN ('done', 'cancelled')
   AND channel LIKE 'root.retail%';
-- events waiting to be relayed to a legacy platform stay on the production database's side
UPDATE retail_relay
   SET state = 'cancelled'
 WHERE state IN ('pending', 'sending');
