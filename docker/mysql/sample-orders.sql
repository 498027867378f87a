-- A few orders living their lives, to see the stack work end to end before a
-- real shop writes to it:
--   docker compose exec -T mysql mysql -uroot -ptxmon shop < mysql/sample-orders.sql
-- Run it again for more: ids come from the current maximum. Each statement
-- is its own transaction, as the shop's application would commit them.
SET @user = (SELECT COALESCE(MAX(id), 0) + 1 FROM users);
SET @order = (SELECT COALESCE(MAX(id), 0) + 1 FROM orders);
SET @payment = (SELECT COALESCE(MAX(id), 0) + 1 FROM payments);
SET @refund = (SELECT COALESCE(MAX(id), 0) + 1 FROM refunds);

INSERT INTO users (id, channel, province, created_at) VALUES (@user, 'app', 'Zhejiang', NOW());

-- Paid after one failed attempt, shipped and completed.
INSERT INTO orders (id, order_no, user_id, channel, province, amount, status, created_at, updated_at)
  VALUES (@order, CONCAT('S', @order), @user, 'app', 'Zhejiang', 199.00, 'created', NOW(), NOW());
INSERT INTO payments (id, order_id, method, amount, result, created_at)
  VALUES (@payment, @order, 'wechat_pay', 199.00, 'failed', NOW());
INSERT INTO payments (id, order_id, method, amount, result, created_at)
  VALUES (@payment + 1, @order, 'alipay', 199.00, 'success', NOW());
UPDATE orders SET status = 'paid', payment_method = 'alipay', paid_at = NOW(), updated_at = NOW()
  WHERE id = @order;
UPDATE orders SET status = 'shipped', updated_at = NOW() WHERE id = @order;
UPDATE orders SET status = 'completed', updated_at = NOW() WHERE id = @order;

-- Cancelled before payment.
INSERT INTO orders (id, order_no, user_id, channel, province, amount, status, created_at, updated_at)
  VALUES (@order + 1, CONCAT('S', @order + 1), @user, 'web', 'Guangdong', 58.50, 'created', NOW(), NOW());
UPDATE orders SET status = 'cancelled', updated_at = NOW() WHERE id = @order + 1;

-- Paid, then refunded.
INSERT INTO orders (id, order_no, user_id, channel, province, amount, status, created_at, updated_at)
  VALUES (@order + 2, CONCAT('S', @order + 2), @user, 'mini_program', 'Shanghai', 1299.00, 'created', NOW(), NOW());
INSERT INTO payments (id, order_id, method, amount, result, created_at)
  VALUES (@payment + 2, @order + 2, 'wechat_pay', 1299.00, 'success', NOW());
UPDATE orders SET status = 'paid', payment_method = 'wechat_pay', paid_at = NOW(), updated_at = NOW()
  WHERE id = @order + 2;
INSERT INTO refunds (id, order_id, amount, reason, created_at)
  VALUES (@refund, @order + 2, 1299.00, 'quality_issue', NOW());
UPDATE orders SET status = 'refunded', updated_at = NOW() WHERE id = @order + 2;
