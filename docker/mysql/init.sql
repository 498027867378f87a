-- The shop's schema (docs/demo-shop-schema.md) and the replication user
-- Canal reads the binlog with. The mysql image runs this file once, when it
-- initialises an empty data directory (docker-compose.yml mounts it in
-- /docker-entrypoint-initdb.d). The server runs with binlog_format=ROW and
-- binlog_row_image=FULL: txmon needs the before image of every UPDATE.

CREATE DATABASE IF NOT EXISTS shop DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci;
USE shop;

CREATE TABLE orders (
  id             BIGINT        NOT NULL,
  order_no       VARCHAR(32)   NOT NULL,
  user_id        BIGINT        NOT NULL,
  channel        VARCHAR(16)   NOT NULL,
  province       VARCHAR(32)   NOT NULL,
  payment_method VARCHAR(16)   NULL,
  amount         DECIMAL(12,2) NOT NULL,
  status         VARCHAR(16)   NOT NULL,
  created_at     DATETIME      NOT NULL,
  paid_at        DATETIME      NULL,
  updated_at     DATETIME      NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uk_orders_order_no (order_no),
  KEY idx_orders_user_id (user_id),
  KEY idx_orders_created_at (created_at)
) ENGINE=InnoDB;

CREATE TABLE payments (
  id         BIGINT        NOT NULL,
  order_id   BIGINT        NOT NULL,
  method     VARCHAR(16)   NOT NULL,
  amount     DECIMAL(12,2) NOT NULL,
  result     VARCHAR(16)   NOT NULL,
  created_at DATETIME      NOT NULL,
  PRIMARY KEY (id),
  KEY idx_payments_order_id (order_id)
) ENGINE=InnoDB;

CREATE TABLE refunds (
  id         BIGINT        NOT NULL,
  order_id   BIGINT        NOT NULL,
  amount     DECIMAL(12,2) NOT NULL,
  reason     VARCHAR(32)   NOT NULL,
  created_at DATETIME      NOT NULL,
  PRIMARY KEY (id),
  KEY idx_refunds_order_id (order_id)
) ENGINE=InnoDB;

CREATE TABLE users (
  id         BIGINT      NOT NULL,
  channel    VARCHAR(16) NOT NULL,
  province   VARCHAR(32) NOT NULL,
  created_at DATETIME    NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB;

-- Canal connects as a replica: it reads the binlog (REPLICATION SLAVE,
-- REPLICATION CLIENT) and table definitions (SELECT). mysql_native_password
-- because Canal's MySQL driver predates caching_sha2_password.
CREATE USER 'canal'@'%' IDENTIFIED WITH mysql_native_password BY 'canal';
GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'canal'@'%';
FLUSH PRIVILEGES;
