-- Retail Connector POS: no point of sale is called from a neutralised copy
UPDATE retail_backend
   SET active = false
 WHERE backend_type = 'square';
