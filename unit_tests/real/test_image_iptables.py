"""The image can cut a container's network from inside its own namespace (iptables, NET_ADMIN)."""

import unittest
import uuid

from docker.errors import NotFound

from KafkaPersistenceLibrary.broker import engine as docker_engine
from KafkaPersistenceLibrary.broker.labels import labels_for
from KafkaPersistenceLibrary.image import resolve_image

RULE = "INPUT -p tcp --dport 9092 -j DROP"


class IptablesTest(unittest.TestCase):
    def test_a_drop_rule_is_added_and_removed_in_the_containers_namespace(self):
        client = docker_engine.connect()
        self.addCleanup(client.close)
        name = f"kpl-iptables-test-{uuid.uuid4().hex[:8]}"
        container = client.containers.run(resolve_image(None), ["sleep", "120"], name=name, detach=True,
                                          cap_add=["NET_ADMIN"], labels=labels_for(f"iptables test {self.id()}"))
        self.addCleanup(lambda: _remove(client, name))

        def iptables(*args):
            code, output = container.exec_run(["iptables", *args], user="root")
            return code, output.decode(errors="replace")

        code, output = iptables("-A", *RULE.split())
        self.assertEqual(code, 0, output)
        self.assertIn(f"-A {RULE.replace('-p tcp', '-p tcp -m tcp')}", iptables("-S", "INPUT")[1])
        code, output = iptables("-D", *RULE.split())
        self.assertEqual(code, 0, output)
        self.assertNotIn("DROP", iptables("-S", "INPUT")[1])


def _remove(client, name):
    try:
        client.containers.get(name).remove(force=True, v=True)
    except NotFound:
        pass


if __name__ == "__main__":
    unittest.main()
