"""frontdesk: the shared package every Lambda function of the patient-messaging back end imports."""
