"""Exception intelligence in the hub: agents, SLA-risk predictions, learned priority, flow
anomaly checks, the model registry and the audit of every automated decision."""
