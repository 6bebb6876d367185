# ruff: noqa: E501
"""The CTIActivity WSDL (crmod-cti.md §5), Frontdesk's own rendering, with this server's address."""

from __future__ import annotations

from frontdesk.soap.faults import xml_escape

_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:tns="urn:crmondemand/ws/odctibs/ctiactivity/" xmlns:apData="urn:/crmondemand/xml/ctiactivity/data" targetNamespace="urn:crmondemand/ws/odctibs/ctiactivity/">
<types>
<xsd:schema elementFormDefault="qualified" attributeFormDefault="unqualified" targetNamespace="urn:/crmondemand/xml/ctiactivity/data" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
<xsd:element name="ListOfInteraction" type="apData:ListOfInteraction"/>
<xsd:complexType name="ListOfInteraction"><xsd:sequence><xsd:element name="Interaction" type="apData:Interaction" minOccurs="0" maxOccurs="5"/></xsd:sequence></xsd:complexType>
<xsd:complexType name="Interaction"><xsd:sequence><xsd:element name="InteractionId" type="xsd:string" minOccurs="0"/><xsd:element name="AgentOfferTime" type="xsd:string" minOccurs="0"/><xsd:element name="ChannelType" type="xsd:string" minOccurs="0"/><xsd:element name="Origin" type="xsd:string" minOccurs="0"/><xsd:element name="Destination" type="xsd:string" minOccurs="0"/><xsd:element name="Priority" type="xsd:string" minOccurs="0"/><xsd:element name="IVRBeginTime" type="xsd:string" minOccurs="0"/><xsd:element name="QueueBeginTime" type="xsd:string" minOccurs="0"/><xsd:element name="Queue" type="xsd:string" minOccurs="0"/><xsd:element name="AssociatedRecordId" type="xsd:string" minOccurs="0"/><xsd:element name="AssociatedRecordType" type="xsd:string" minOccurs="0"/><xsd:element name="CampaignSourceCode" type="xsd:string" minOccurs="0"/><xsd:element name="ContactPhoneNumber" type="xsd:string" minOccurs="0"/><xsd:element name="CreateServiceRequest" type="xsd:string" minOccurs="0"/><xsd:element name="ServiceRequestNumber" type="xsd:string" minOccurs="0"/></xsd:sequence></xsd:complexType>
<xsd:element name="ListOfActivity" type="apData:ListOfActivity"/>
<xsd:complexType name="ListOfActivity"><xsd:sequence><xsd:element name="Activity" type="apData:Activity" minOccurs="0" maxOccurs="unbounded"/></xsd:sequence></xsd:complexType>
<xsd:complexType name="Activity"><xsd:sequence><xsd:element name="Status" type="xsd:string" minOccurs="0"/><xsd:element name="InteractionId" type="xsd:string" minOccurs="0"/><xsd:element name="AgentOfferTime" type="xsd:string" minOccurs="0"/><xsd:element name="ActivityId" type="xsd:string" minOccurs="0"/><xsd:element name="ContactId" type="xsd:string" minOccurs="0"/><xsd:element name="ContactFullName" type="xsd:string" minOccurs="0"/><xsd:element name="LeadId" type="xsd:string" minOccurs="0"/><xsd:element name="LeadFullName" type="xsd:string" minOccurs="0"/><xsd:element name="AccountId" type="xsd:string" minOccurs="0"/><xsd:element name="AccountName" type="xsd:string" minOccurs="0"/><xsd:element name="ServiceRequestId" type="xsd:string" minOccurs="0"/><xsd:element name="ServiceRequestNumber" type="xsd:string" minOccurs="0"/><xsd:element name="CampaignId" type="xsd:string" minOccurs="0"/><xsd:element name="CampaignName" type="xsd:string" minOccurs="0"/><xsd:element name="ScreenPopRecordId" type="xsd:string" minOccurs="0"/><xsd:element name="ScreenPopRecordType" type="xsd:string" minOccurs="0"/></xsd:sequence></xsd:complexType>
</xsd:schema>
<xsd:schema elementFormDefault="qualified" attributeFormDefault="unqualified" targetNamespace="urn:crmondemand/ws/odctibs/ctiactivity/" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
<xsd:import namespace="urn:/crmondemand/xml/ctiactivity/data"/>
<xsd:element name="CTIActivityInsert_Input"><xsd:complexType><xsd:sequence><xsd:element ref="apData:ListOfInteraction"/></xsd:sequence></xsd:complexType></xsd:element>
<xsd:element name="CTIActivityInsert_Output"><xsd:complexType><xsd:sequence><xsd:element ref="apData:ListOfActivity"/></xsd:sequence></xsd:complexType></xsd:element>
<xsd:element name="CTIActivityWrapUp_Input"><xsd:complexType><xsd:sequence><xsd:element ref="apData:ListOfInteraction"/></xsd:sequence></xsd:complexType></xsd:element>
<xsd:element name="CTIActivityWrapUp_Output"><xsd:complexType><xsd:sequence><xsd:element ref="apData:ListOfActivity"/></xsd:sequence></xsd:complexType></xsd:element>
</xsd:schema>
</types>
<message name="CTIActivityInsert_Input"><part name="CTIActivityInsert_Input" element="tns:CTIActivityInsert_Input"/></message>
<message name="CTIActivityInsert_Output"><part name="CTIActivityInsert_Output" element="tns:CTIActivityInsert_Output"/></message>
<message name="CTIActivityWrapUp_Input"><part name="CTIActivityWrapUp_Input" element="tns:CTIActivityWrapUp_Input"/></message>
<message name="CTIActivityWrapUp_Output"><part name="CTIActivityWrapUp_Output" element="tns:CTIActivityWrapUp_Output"/></message>
<portType name="CTIActivity">
<operation name="CTIActivityInsert"><input message="tns:CTIActivityInsert_Input"/><output message="tns:CTIActivityInsert_Output"/></operation>
<operation name="CTIActivityWrapUp"><input message="tns:CTIActivityWrapUp_Input"/><output message="tns:CTIActivityWrapUp_Output"/></operation>
</portType>
<binding name="CTIActivity" type="tns:CTIActivity">
<soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
<operation name="CTIActivityInsert"><soap:operation soapAction="document/urn:crmondemand/ws/odctibs/ctiactivity/:CTIActivityInsert"/><input><soap:body use="literal"/></input><output><soap:body use="literal"/></output></operation>
<operation name="CTIActivityWrapUp"><soap:operation soapAction="document/urn:crmondemand/ws/odctibs/ctiactivity/:CTIActivityWrapUp"/><input><soap:body use="literal"/></input><output><soap:body use="literal"/></output></operation>
</binding>
<service name="CTIActivity"><port name="CTIActivity" binding="tns:CTIActivity"><soap:address location="ENDPOINT"/></port></service>
</definitions>
"""


def wsdl(endpoint: str) -> bytes:
    return _TEMPLATE.replace(
        'location="ENDPOINT"', f'location="{xml_escape(endpoint, attribute=True)}"'
    ).encode("utf-8")
