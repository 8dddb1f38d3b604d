#!/usr/bin/env python3
"""Writes the Excel register (台账) the onboarding tests read (tests/data/).

A made-up community's dispute and incident register as offices keep it:
a first sheet of instructions (说明), then the register (台账) with a merged
title row, a two-row header with merged group titles (事件信息, 位置) and a
column name merged over both header rows (编号, 备注), report times as Excel
dates in some rows and as text in others, and a remark merged over two rows.

Made up: no real event or person. Needs openpyxl (PyPI, MIT); run from this
folder:

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install openpyxl
    /tmp/venv/bin/python make_office_register.py
"""
import datetime
import os

from openpyxl import Workbook


def main():
    wb = Workbook()
    info = wb.active
    info.title = "说明"
    info["A1"] = "填表说明：每月5日前报街道综治办。"
    info["A2"] = "上报时间精确到分钟。"
    ws = wb.create_sheet("台账")
    ws["A1"] = "幸福社区矛盾纠纷排查台账（2026年10月）"
    ws.merge_cells("A1:G1")
    ws["A2"] = "编号"
    ws.merge_cells("A2:A3")
    ws["B2"] = "事件信息"
    ws.merge_cells("B2:D2")
    ws["E2"] = "位置"
    ws.merge_cells("E2:F2")
    ws["G2"] = "备注"
    ws.merge_cells("G2:G3")
    for col, name in zip("BCDEF", ["事件类别", "描述", "上报时间", "经度", "纬度"]):
        ws[f"{col}3"] = name
    rows = [
        (1, "邻里纠纷", "楼上漏水引发争执", datetime.datetime(2026, 10, 3, 9, 30), 121.5012, 31.2311, "已调解"),
        (2, "违章停车", "消防通道停车", datetime.datetime(2026, 10, 5, 18, 0), 121.5021, 31.2315, None),
        (3, "环境卫生", "垃圾未分类堆放", "2026-10-08 08:15", 121.5030, 31.2302, None),
        (4, "租赁纠纷", "群租房押金纠纷", datetime.date(2026, 10, 12), 121.5008, 31.2320, "跟进中"),
        (5, "家庭纠纷", "赡养问题", "2026/10/20 14:00", 121.5040, 31.2298, None),
    ]
    for i, r in enumerate(rows, start=4):
        for col, v in zip("ABCDEFG", r):
            if v is not None:
                ws[f"{col}{i}"] = v
        if isinstance(r[3], datetime.datetime):
            ws[f"D{i}"].number_format = "yyyy-mm-dd hh:mm"
        elif isinstance(r[3], datetime.date):
            ws[f"D{i}"].number_format = "yyyy-mm-dd"
    ws.merge_cells("G7:G8")  # one remark for the last two rows
    wb.save("office-events-register.xlsx")


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    main()
