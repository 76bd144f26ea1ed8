"""Alert mail: change digests for subscribers, crawler-problem notices for the operator, an outbox.

``queue_alerts`` and ``queue_operator_notices`` write messages into the outbox inside the caller's
transaction; ``deliver_outbox`` sends them (SMTP, optionally Apprise) with retries.
"""

from monitor.alerts.digest import queue_alerts
from monitor.alerts.operator import queue_operator_notices
from monitor.alerts.outbox import DeliveryResult, deliver_outbox
from monitor.alerts.testmail import send_test_mail

__all__ = ["DeliveryResult", "deliver_outbox", "queue_alerts", "queue_operator_notices", "send_test_mail"]
