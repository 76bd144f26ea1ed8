"""Sample Chinese county government portals served over real HTTP on loopback (127.0.0.N).

TRS WCM, 大汉 Hanweb JCMS and generic sites, a blocked one, one whose robots.txt forbids everything and,
with ``faults=True``, one full of traps — hosting the annual reports of the scenario in
``testbed.simulator.scenario``. ``python -m testbed.simulator`` serves them until Ctrl-C.
"""

from testbed.simulator.expected import Expected
from testbed.simulator.portals import SamplePortals

__all__ = ["Expected", "SamplePortals"]
