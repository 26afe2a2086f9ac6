-- The nightly-reviews example's table: reviews land here during the day; the pipeline
-- (pipeline.yaml) fills the label columns at night. Safe to run twice.
CREATE TABLE IF NOT EXISTS reviews (
  id          bigint PRIMARY KEY,
  product     text NOT NULL,
  rating      smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
  body        text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  -- Filled by the pipeline (sink.fields and sink.columns in pipeline.yaml):
  sentiment   text,
  topic       text,
  urgency     smallint,
  labels      jsonb,
  label_status text,
  batch_id    text,
  labelled_at timestamptz
);
-- The pipeline's source query reads the unlabelled rows.
CREATE INDEX IF NOT EXISTS reviews_unlabelled ON reviews (created_at) WHERE sentiment IS NULL;
