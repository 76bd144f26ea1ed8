"""One module per simulated CMS family (TRS WCM, 大汉 Hanweb, generic, faults), sharing ``common``."""
