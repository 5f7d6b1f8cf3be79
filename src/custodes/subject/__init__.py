"""Subject access: "who looked at my record, when and why", for a data subject.

Dates, systems, actions and purposes are the data subject's right; the identity of the employee
who looked is disclosed only where the Data Protection Officer records why it is essential
(CJEU C-579/21, *Pankki S*). Every report is itself recorded in the ledger.
"""

from custodes.subject.report import SubjectAccessReport, subject_access_report

__all__ = ["SubjectAccessReport", "subject_access_report"]
