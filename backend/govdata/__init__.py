"""Government data sources (政务数据共享交换平台): the adapters and their simulator."""
