-- docker-compose: one database per service that owns data.
CREATE DATABASE identity;
CREATE DATABASE media;
CREATE DATABASE notification;
