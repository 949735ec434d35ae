"""Write side: command messages, the event-sourced application and outcome ingestion."""
