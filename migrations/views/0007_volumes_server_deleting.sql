-- A volume whose server is being deleted detaches whatever fails (domain/volume.py).
ALTER TABLE volumes ADD COLUMN server_deleting boolean NOT NULL DEFAULT false;
