"""SQL persistence: ORM models, repositories, the unit of work and migrations.

The service layer imports `meeting_agent.adapters.db.database` (`SqlDatabase`,
`SqlAlchemyUnitOfWork`, `upgrade_to_head`); nothing here runs at import time.
"""
