-- Vigil's own store, next to (and separate from) Temporal's databases.
--
-- Run once by the postgres image's entrypoint, as the superuser (POSTGRES_USER), when the data
-- volume is first initialised (files in /docker-entrypoint-initdb.d). Temporal's databases
-- (temporal, temporal_visibility) are not created here: the temporal-schema-setup service creates
-- them with temporal-sql-tool.
--
-- The password comes from the container's environment (VIGIL_DB_PASSWORD, set in
-- docker-compose.yml) through psql's \getenv, so it is not written in this file. To change it
-- later, ALTER ROLE by hand: this script does not run again on an existing volume.

\set ON_ERROR_STOP on
\getenv vigil_db_password VIGIL_DB_PASSWORD

CREATE ROLE vigil WITH LOGIN PASSWORD :'vigil_db_password';
CREATE DATABASE vigil OWNER vigil ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE vigil FROM PUBLIC;
GRANT ALL PRIVILEGES ON DATABASE vigil TO vigil;

-- Vigil creates its tables (store migrations) in the public schema of its own database.
\connect vigil
ALTER SCHEMA public OWNER TO vigil;
