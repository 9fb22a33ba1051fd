-- The chapter's four rooms exist from the first start on.
INSERT INTO rooms (name, topic, created_at) VALUES
    ('general',  'Anything goes',          (extract(epoch FROM now()) * 1000000)::BIGINT),
    ('python',   'Python talk',            (extract(epoch FROM now()) * 1000000)::BIGINT),
    ('frontend', 'Browsers, CSS and JS',   (extract(epoch FROM now()) * 1000000)::BIGINT),
    ('random',   'Off-topic',              (extract(epoch FROM now()) * 1000000)::BIGINT);
