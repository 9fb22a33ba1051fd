-- The chapter's four rooms exist from the first start on.
INSERT INTO rooms (name, topic, created_at) VALUES
    ('general',  'Anything goes',          CAST(strftime('%s', 'now') AS INTEGER) * 1000000),
    ('python',   'Python talk',            CAST(strftime('%s', 'now') AS INTEGER) * 1000000),
    ('frontend', 'Browsers, CSS and JS',   CAST(strftime('%s', 'now') AS INTEGER) * 1000000),
    ('random',   'Off-topic',              CAST(strftime('%s', 'now') AS INTEGER) * 1000000);
