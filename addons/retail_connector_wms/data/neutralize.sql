-- Retail Connector warehouses: no 3PL is called from a neutralised copy, and a file that still left
-- one would say it is a test (ISA15 T)
UPDATE retail_backend
   SET active = false
 WHERE backend_type IN ('wms_rest', 'wms_x12');
UPDATE retail_backend
   SET x12_usage = 'T'
 WHERE backend_type = 'wms_x12';
